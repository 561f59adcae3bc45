"""What determines a trained model: recipes (models/*.toml), batching and the training loop
(the code a store key hashes is what suite.train.key finds the loop reaching), with progress display and curve reading beside them."""
