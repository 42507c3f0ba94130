"""HTTP blueprints and the request and error handling they share."""
