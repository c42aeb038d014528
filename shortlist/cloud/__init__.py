"""Cloud backends, each behind an interface that a local implementation also fills: off by
default, switched on by settings (see README, "Cloud backends")."""
