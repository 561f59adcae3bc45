"""The recipes, one TOML file each (suite.train.recipes reads them). A package only so that an
installed memsuite ships them (as `memsuite_recipes`); nothing here is imported."""
