"""The customers view and the pure rules queries use: normalised terms, duplicate scores."""
