# Nothing but the interpreter's own start-up and shutdown.
