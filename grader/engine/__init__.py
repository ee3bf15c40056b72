"""Everything that talks to the Docker engine: start and connect (daemon), build (two back ends, under limits),
inspect an image once (inspect, layers), run it once (run), and the naive baseline. The checks never import it."""
