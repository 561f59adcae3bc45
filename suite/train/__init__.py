"""What determines a trained model: recipes (models/*.toml), batching and the training loop
(the modules hashed into store keys), with progress display and curve reading beside them."""
