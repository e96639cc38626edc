"""Background work: the garbage collector, the scrubber and leader election."""
