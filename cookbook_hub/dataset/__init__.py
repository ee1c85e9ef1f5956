"""Planning and building Hub-ready dataset folders from a recipe or the template set."""
