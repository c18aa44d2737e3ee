"""The customer domain: the Customer aggregate, its validated inputs and named refusals."""
