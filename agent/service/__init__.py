"""``sleuth serve``: alarm intake, the durable queue, workers and notifiers."""
