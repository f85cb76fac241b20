"""Worker processes: engines in other processes behind the parent's one listener, balanced by load."""
