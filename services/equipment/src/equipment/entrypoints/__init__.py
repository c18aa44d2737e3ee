"""How equipment is driven: HTTP routes and the ownership reconciler's log follower."""
