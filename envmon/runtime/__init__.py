"""Running the system: servers (configured or embedded), the demo and ``up`` loops, the
API on a thread, simulated traffic into a broker, and the progress display."""
