"""The closing quiz of each lesson: questions, options, the right answer and why each option is right or wrong.

Data only (grader.notebook.asking draws and checks them); a lesson's last cell is `Quiz(quizzes.LESSONS["01"])`.
"""

from __future__ import annotations

from grader.notebook.asking import Question
from grader.notebook.supply_chain import QUIZ as LESSON_10_QUIZ

__all__ = [
    "LESSONS",
]

LESSONS: dict[str, tuple[Question, ...]] = {
    "00": (
        Question("Which part of the workshop needs the network?",
                 ("Nothing: everything is local", "Builds that run npm ci, pip install or apt-get",
                  "Pulling the base images"),
                 1, ("The base images are local, but package installs inside a build download packages.",
                     ("Right: the bases are local stand-ins, but npm, PyPI and Debian packages are downloaded "
                     "during builds (and then cached)."),
                     ("The exercises' bases are already here (`workshop bases`); the grader pulls only a base the "
                      "machine lacks, such as node:20-alpine in lesson 08, and that needs a registry."))),
        Question("Where do you edit an exercise?",
                 ("In the lesson notebook", "In exercises/<app>/Dockerfile, opened in JupyterLab's editor",
                  "In solutions/<app>/Dockerfile"),
                 1, ("The lessons only read and grade: they never write your files.",
                     "Right: the link in each exercise lesson opens it; save, then press Build and grade.",
                     "That is the reference: it stays closed until you have tried yourself.")),
    ),
    "01": (
        Question("A RUN installs gcc; the next RUN removes it. What happens to the image size?",
                 ("It shrinks back to the base", "It stays as large (or grows a little)", "It halves"),
                 1, ("Layers are immutable: the removal adds whiteouts, the gcc bytes stay in the layer below.",
                     "Right: the second layer only hides the files; both layers ship.",
                     "No layer can make an earlier one smaller.")),
        Question("How do you keep gcc's bytes out of the final image?",
                 ("Remove it in a later RUN", ("Install, use and remove it in one RUN, or use it in a builder "
                  "stage only"), "Run `docker image prune`"),
                 1, ("That only hides the files (you measured it).",
                     ("Right: either the layer never contains gcc at the end of its RUN, or the stage holding "
                     "it is never shipped."),
                     "Pruning removes unused images; it does not change an image's layers.")),
    ),
    "02": (
        Question("What does the final stage of a multi-stage build contain?",
                 ("Everything every stage installed", "Only its own base and what it copies or runs",
                  "The builder's layers, compressed"),
                 1, ("Earlier stages are scaffolding: nothing of them ships unless copied.",
                     "Right: COPY --from=build picks files out; the builder's gigabyte stays behind.",
                     "The builder's layers are not part of the final image at all.")),
        Question("Why does `CMD [\"node\", \"dist/main.js\"]` beat `CMD [\"npm\", \"start\"]`?",
                 ("node is faster at serving requests", ("The app is PID 1 and gets SIGTERM itself; no npm "
                  "needed in the runtime image"), "npm start does not work in containers"),
                 1, ("Request speed is the same: the same node process serves them.",
                     ("Right: with node as PID 1 the app's own SIGTERM handler runs, and the final image needs "
                     "no npm at all."),
                     "It works (you measured it); it only adds a process and npm to the image.")),
        Question("What does `npm ci --only=production` do with npm 10?",
                 ("Fails", "Installs production dependencies only, with a deprecation warning",
                  "Installs everything"),
                 1, ("It still runs.", "Right: npm warns `Use --omit=dev`; write that instead.",
                     "That is what the article's `--only=production=false` does: an invalid value, ignored.")),
    ),
    "03": (
        Question("psycopg2 (from source) needs which packages at build time?",
                 ("gcc and libpq-dev (pg_config)", "Only libpq5", "python3-dev only"),
                 0, ("Right: without libpq-dev there is no pg_config and the build stops.",
                     "libpq5 is the run-time library; it has no headers and no pg_config.",
                     "Python.h is already in the python images; libpq's headers are what is missing.")),
        Question("The final image runs as a non-root user. Where should pip have installed the packages?",
                 ("/root/.local with --user", "A venv such as /opt/venv, copied whole", ("Anywhere: Python "
                  "finds them")),
                 1, ("/root is not readable by other users and is not their user site: imports fail.",
                     "Right: a venv in a neutral place is readable by every user and moves as one folder.",
                     "Python looks in the current user's site folder, not root's.")),
    ),
    "04": (
        Question("What of the frontend does the combined runtime image need?",
                 ("Its node_modules", "Only its built static files (dist/)", "Its sources, to rebuild"),
                 1, ("A Vite build is plain HTML, JS and CSS: nothing of node_modules runs.",
                     "Right: copy frontend/dist into the backend's public/ folder.",
                     "Nothing rebuilds at run time.")),
        Question("Two separate naive images share node:20. On a node that pulls both, the base layers are "
                 "stored...",
                 ("twice", "once", "not at all"),
                 1, ("Layers are content-addressed: an identical layer is stored and pulled once.",
                     "Right: that is why the lesson shows both the sum and the distinct bytes.",
                     "Every image needs its base layers.")),
    ),
    "05": (
        Question("Which builder sends the whole folder as the build context before the first step?",
                 ("Both", "The classic builder", "BuildKit"),
                 1, ("BuildKit sends only what the build references.",
                     "Right: the classic builder tars the folder (minus .dockerignore) first.",
                     "BuildKit asks for files as COPY needs them.")),
        Question("Where should the npm cache be cleaned?",
                 ("In a later RUN", "In the same RUN that filled it (or in a builder stage only)",
                  "Nowhere: it is small"),
                 1, ("A later RUN only hides the files.",
                     "Right: the layer is written when its RUN ends.",
                     "The article puts the npm cache at 50-100 MB.")),
    ),
    "06": (
        Question("Why does the dependencies-first Dockerfile rebuild faster after a source edit?",
                 ("It has fewer steps", "The npm ci layer's cache key (package files) did not change",
                  "BuildKit is used"),
                 1, ("It has more steps, not fewer.",
                     "Right: a step reruns only when its inputs change; the edit comes after npm ci.",
                     "Both were built by the same builder, BuildKit where it is installed.")),
        Question("What does a registry store for 40 tags built on the same base?",
                 ("40 full copies", "The base layers once, the app layers per tag", "Only the newest tag"),
                 1, ("Layers are stored by digest; identical ones are shared.",
                     "Right: that is the 'base layers shared' column.",
                     "Every tag stays pullable.")),
    ),
    "07": (
        Question("How do you look inside a failed builder stage without editing the Dockerfile?",
                 ("Comment out the second FROM", "docker build --target <stage>", "docker history"),
                 1, ("That works, but edits the file (the article's way).",
                     "Right: --target stops after that stage and tags it.",
                     "history shows layers, not a shell inside the stage.")),
        Question("For local development with compose, which command gives live edits?",
                 ("Rebuild the image on every save", ("Mount the sources into a full node:20 container (or a dev "
                  "stage of its own) that runs the watchers"), "Run the production image"),
                 1, ("That is the slow loop compose avoids.",
                     ("Right: node:20 has the compilers and the dev tools; the volume brings your edits in. The "
                      "reference's builder stage would not do: it prunes TypeScript and runs no watcher."),
                     "The production image has no compiler and no watcher.")),
    ),
    "08": (
        Question("A .env file is copied, then deleted in the next RUN. Can someone with the image read it?",
                 ("No", "Yes: it is still in its layer", "Only root can"),
                 1, ("The deletion only hides it from the container's view.",
                     "Right: `docker save` and tar are enough to read layer 2.",
                     "Anyone with the image file can read every layer.")),
        Question("What does pinning `FROM node:20-slim@sha256:...` make repeatable?",
                 ("The whole build", "The base image only", "Nothing"),
                 1, ("npm ci, apt-get and pip still fetch whatever the registries serve that day.",
                     "Right: the base is fixed; lockfiles and pinned versions do the rest.",
                     "It does fix the base.")),
    ),
    "09": (
        Question("Which quick win cuts the most bytes from the starting node-api image?",
                 ("USER node", "A small runtime base and a second FROM", "npm cache clean"),
                 1, ("A user changes no bytes.",
                     "Right: the full node:20 base alone is over a gigabyte.",
                     "The cache is tens of megabytes; the base is a gigabyte.")),
        Question("How do you measure before and after?",
                 ("docker images <name> --format \"{{.Size}}\"", "du -sh on the Dockerfile", "By the build time"),
                 0, (("Right: the article's own commands, and the grader's size check reads the same number. With the "
                      "containerd image store, `docker images` shows DISK USAGE (unpacked, the grader's number) and "
                      "CONTENT SIZE (compressed) in place of SIZE."),
                     "The Dockerfile's size says nothing about the image.",
                     "Build time and size are different things (lesson 06).")),
    ),
    "10": LESSON_10_QUIZ,
}
