"""The event pipeline: the receiver's group commit, the queue, the worker, the mirror, rules and clicks."""
