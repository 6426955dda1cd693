"""Queue jobs: the handle, the one waiter (the scheduler), map, the journal and its stores."""
