import sys
from pathlib import Path

# Make `import app` work whether pytest runs from this folder or from the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
