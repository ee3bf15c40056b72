"""Generated spellings of image references, and how to see which image the builder really used.

A case is one `COPY --from=<ref>` or `RUN --mount=...from=<ref>...` line. Its reference is a stage (by name in any
case, or by number) or one of three tiny marker images, each FROM scratch with a file /marker that names it. The
spelling varies as the builder's grammar allows: quotes around the value or part of it, backslashes, a quoted flag
name; for mounts, keys in any case, fields in any order, CSV-quoted fields, a decoy `from=` that a later one
overrides, the other target keys, the whole value quoted. Many cases share one Dockerfile (each copies its marker
to /seen/<n>), so a few builds check many spellings.
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass

import docker
from hypothesis import strategies as st

from grader.dockerfile import DockerfileInfo, parse_dockerfile
from grader.image_policy import ImageUse, image_uses, stage_of

MARKER_REPOSITORY = "docker-diet-workshop/flags-marker"
MARKERS = {name: f"{MARKER_REPOSITORY}-{name}:v1" for name in ("a", "b", "c")}
MARKER_LABEL = "io.docker-diet-workshop-test.flags-marker"
#: Stages every case Dockerfile starts with: `one` is marker a, `two` is marker b (numbers 0 and 1).
HEADER = f"FROM {MARKERS['a']} AS one\nFROM {MARKERS['b']} AS two\n"
STAGE_MARKERS = {"one": "a", "two": "b", "0": "a", "1": "b"}


@dataclass(frozen=True)
class Case:
    kind: str  # "copy", "mount", or "from" (a stage FROM a word with ARGs, copied from by number)
    flag: str  # the flag as written in the Dockerfile; for "from", the FROM word
    args: tuple[str, ...] = ()  # for "from": the ARGs before the first FROM, `{n}` for the case's own names


def build_markers(client: docker.DockerClient) -> None:
    """The three marker images (tiny, FROM scratch, one file), made once and reused."""
    for name, tag in MARKERS.items():
        try:
            client.images.get(tag)
            continue
        except docker.errors.ImageNotFound:
            pass
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for path, body in (("Dockerfile", b"FROM scratch\nCOPY marker /marker\n"), ("marker", name.encode())):
                info = tarfile.TarInfo(path)
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
        buffer.seek(0)
        client.images.build(fileobj=buffer, custom_context=True, tag=tag, labels={MARKER_LABEL: name}, rm=True)


# ------------------------------------------------------------------------------------------- spellings
_REFS = st.sampled_from(["one", "two", "0", "1", MARKERS["a"], MARKERS["c"]])


@st.composite
def _cased(draw: st.DrawFn, ref: str) -> str:
    """A stage name in any case (both builders fold it); numbers and images as they are."""
    if ref in ("one", "two"):
        return "".join(c.upper() if draw(st.booleans()) else c for c in ref)
    return ref


def _escaped(value: str) -> str:
    return value.replace('"', '\\"')


@st.composite
def _flag_quoted(draw: st.DrawFn, value: str) -> str:
    """`value` spelled with the flag grammar's quotes and backslashes (extractBuilderFlags removes them)."""
    style = draw(st.sampled_from(["plain", "double", "single", "part", "backslash"]))
    cut = draw(st.integers(1, max(1, len(value) - 1)))
    if style == "single":
        return f"'{value}'"
    if style == "double":
        return f'"{_escaped(value)}"'
    if style == "part":
        return f'{_escaped(value[:cut])}"{_escaped(value[cut:])}"'
    if style == "backslash" and value[cut:cut + 1] not in ('"', ""):
        return f"{_escaped(value[:cut])}\\{_escaped(value[cut:])}"
    return _escaped(value)


@st.composite
def copy_case(draw: st.DrawFn) -> Case:
    ref = draw(_cased(draw(_REFS)))
    name = draw(st.sampled_from(["--from", '--"from"', "--fr'om'"]))
    return Case("copy", f"{name}={draw(_flag_quoted(ref))}")


def _key(draw: st.DrawFn, key: str) -> str:
    return "".join(c.upper() if draw(st.booleans()) else c for c in key)


def _csv(draw: st.DrawFn, field: str) -> str:
    return f'"{field}"' if draw(st.booleans()) else field


@st.composite
def mount_case(draw: st.DrawFn) -> Case:
    ref = draw(_cased(draw(st.sampled_from(["one", "two", MARKERS["a"], MARKERS["c"]]))))
    target = f"{_key(draw, draw(st.sampled_from(['target', 'dst', 'destination'])))}=/m"
    fields = [target] + ([f"{_key(draw, 'type')}=bind"] if draw(st.booleans()) else [])
    fields = list(draw(st.permutations(fields)))
    real_at = draw(st.integers(0, len(fields)))
    fields.insert(real_at, f"{_key(draw, 'from')}={ref}")
    if draw(st.booleans()):  # a decoy before it: the last `from=` wins
        fields.insert(draw(st.integers(0, real_at)), f"from={MARKERS['b']}")
    text = ",".join(_csv(draw, field) for field in fields)
    return Case("mount", f"--mount={draw(_flag_quoted(text))}")


@st.composite
def from_case(draw: st.DrawFn) -> Case:
    """A FROM whose image is spelled with ARGs declared before the first FROM, resolved as the builder does."""
    tag = MARKERS[draw(st.sampled_from(["a", "c"]))]
    repository, _, version = tag.partition(":")
    args, word = draw(st.sampled_from([
        (("A{n}=" + tag,), "${A{n}}"), (("A{n}=" + tag,), "$A{n}"), (("A{n}=" + tag,), '"${A{n}}"'),
        (("A{n}",), "${A{n}:-" + tag + "}"), (("A{n}=" + tag, 'B{n}="${A{n}}"'), "$B{n}"),
        (("A{n}=" + repository,), "${A{n}}:" + version), (("A{n}=x",), "${A{n}:+" + tag + "}"),
        (("A{n}='" + tag + "'",), "${A{n}:-nothing}"), ((), f'"{tag}"'), (("A{n}=" + tag,), "${A{n}}${NOPE{n}}"),
    ]))
    return Case("from", word, args)


def dockerfile(cases: list[Case], buildkit: bool) -> str:
    """One Dockerfile for many cases; the classic builder gets no mount cases (it has no --mount)."""
    froms = [c for c in cases if c.kind == "from"]
    lines = [arg.replace("{n}", str(n)) for n, c in enumerate(froms) for arg in (f"ARG {a}" for a in c.args)]
    lines.append(HEADER.rstrip("\n"))
    lines += [f"FROM {c.flag.replace('{n}', str(n))}" for n, c in enumerate(froms)]
    cases = cases + [Case("copy", f"--from={2 + n}") for n in range(len(froms))]
    mounts = [c for c in cases if c.kind == "mount"] if buildkit else []
    if mounts:
        lines.append("FROM debian:bookworm-slim AS runner\nRUN mkdir /seen")
        lines += [f"RUN {c.flag} cp /m/marker /seen/{n}" for n, c in enumerate(mounts)]
    lines.append("FROM scratch")
    copies = [c for c in cases if c.kind == "copy"]
    lines += [f"COPY {c.flag} /marker /seen/{len(mounts) + n}" for n, c in enumerate(copies)]
    if mounts:
        lines.append("COPY --from=runner /seen/ /seen/")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------- the two readings
def grader_reading(text: str) -> dict[str, str]:
    """{"/seen/<n>": marker} as the grader reads the Dockerfile: each case's reference, resolved to a stage or an
    image by grader.image_policy, then to the marker that stage or image holds."""
    info = parse_dockerfile(text)
    found: dict[str, str] = {}
    by_line = {i.line: i for i in info.all_instructions()}
    for use in image_uses(info):
        args = by_line[use.line].args if use.line in by_line else ""
        tail = args.rsplit("/seen/", 1)[1].split() if "/seen/" in args else []
        destination = tail[0] if tail else ""
        if use.where != "FROM" and destination:
            found[f"/seen/{destination}"] = _marker(info, use)
    return found


def _marker(info: DockerfileInfo, use: ImageUse) -> str:
    stage = stage_of(info, use)
    name = stage.base if stage is not None else use.name
    return next((marker for marker, tag in MARKERS.items() if tag == name), f"<not a marker: {name}>")


def builder_reading(api: docker.APIClient, image: str) -> dict[str, str]:
    """{"/seen/<n>": marker} from the built image's files: what the builder really copied."""
    container = api.create_container(image, command=["none"])
    try:
        stream, _ = api.get_archive(container["Id"], "/seen")
        data = io.BytesIO(b"".join(stream))
    except docker.errors.NotFound:
        return {}  # no case copied anything (a classic Dockerfile of mount cases only)
    finally:
        api.remove_container(container["Id"], force=True)
    found = {}
    with tarfile.open(fileobj=data) as tar:
        for member in tar:
            handle = tar.extractfile(member) if member.isfile() else None
            if handle is not None:
                found["/" + member.name] = handle.read().decode()
    return found
