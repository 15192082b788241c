"""Media anonymisation tasks: the storage layer, the processor layer and the queue."""
