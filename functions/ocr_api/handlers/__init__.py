"""Lambda entry points besides the API: the template's plan catalog."""
