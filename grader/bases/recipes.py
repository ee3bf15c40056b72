"""Dockerfiles for the local stand-ins of the official base images, and the Debian rootfs settings they share.

The stand-ins copy what the official images do where it matters for the lessons: a one-layer debootstrap rootfs
with the debuerreotype apt/dpkg settings (slim: no docs, man pages or locales; apt lists removed), the
buildpack-deps package set in the full variants, Node in /usr/local with its headers and a `node` user (uid 1000),
and Debian's Python with `python`/`pip` commands, Python.h, and no PEP 668 marker. Bump RECIPE_VERSION whenever a
recipe changes: `workshop bases` rebuilds stand-ins whose label carries an older version.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "APT_DOCKER_SETTINGS",
    "BUILDPACK_PACKAGES",
    "DPKG_SLIM_EXCLUDES",
    "LABEL_RECIPE",
    "LABEL_STAND_IN",
    "NODE_CA_BUNDLE",
    "POSTGRES_ENTRYPOINT",
    "POSTGRES_MAJOR",
    "RECIPE_VERSION",
    "buildpack_deps",
    "debian_slim",
    "node",
    "postgres",
    "python",
]

RECIPE_VERSION = "1"

LABEL_STAND_IN = "io.docker-diet-workshop.stand-in"
LABEL_RECIPE = "io.docker-diet-workshop.recipe"

#: Where the stand-ins keep a bundle of the extra CA certificates for Node (NODE_EXTRA_CA_CERTS).
NODE_CA_BUNDLE = "/usr/local/share/ca-certificates/extra-ca-bundle.pem"

#: The PostgreSQL major version Debian 12 packages, and so the one postgres stand-in we build.
POSTGRES_MAJOR = 15
#: The stand-in's entrypoint script, copied into its build context as docker-entrypoint.sh.
POSTGRES_ENTRYPOINT = Path(__file__).with_name("postgres-entrypoint.sh")

#: dpkg path filters of the official slim images: what a package would install there is never written.
DPKG_SLIM_EXCLUDES = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
"""

#: apt settings of the official Debian images: no package caches, compressed lists, no translations.
APT_DOCKER_SETTINGS = {
    "docker-clean": (
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb '
        '/var/cache/apt/*.bin || true"; };\n'
        'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb '
        '/var/cache/apt/*.bin || true"; };\n'
        'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'
    ),
    "docker-gzip-indexes": 'Acquire::GzipIndexes "true";\n',
    "docker-no-languages": 'Acquire::Languages "none";\n',
    "docker-autoremove-suggests": 'Apt::AutoRemove::SuggestsImportant "false";\n',
}

#: The buildpack-deps:bookworm package set (curl, scm and full layers), which node:20 and python:3.11 build on.
BUILDPACK_PACKAGES = """
ca-certificates curl gnupg dirmngr netbase wget
git mercurial openssh-client subversion procps
autoconf automake bzip2 default-libmysqlclient-dev dpkg-dev file g++ gcc imagemagick libbz2-dev libc6-dev
libcurl4-openssl-dev libdb-dev libevent-dev libffi-dev libgdbm-dev libglib2.0-dev libgmp-dev libjpeg-dev
libkrb5-dev liblzma-dev libmagickcore-dev libmagickwand-dev libmaxminddb-dev libncurses5-dev libncursesw5-dev
libpng-dev libpq-dev libreadline-dev libsqlite3-dev libssl-dev libtool libwebp-dev libxml2-dev libxslt-dev
libyaml-dev make patch unzip xz-utils zlib1g-dev
""".split()


def _labels(tag: str) -> str:
    return f'LABEL {LABEL_STAND_IN}="{tag}" {LABEL_RECIPE}="{RECIPE_VERSION}"\n'


def _extra_ca(has_extra_ca: bool) -> str:
    """Trust the machine's extra CA certificates (company proxy): ca-certificates picks them up when installed."""
    return "COPY extra-ca/ /usr/local/share/ca-certificates/\n" if has_extra_ca else ""


def debian_slim() -> str:
    """One layer from the prepared rootfs tarball, as the official image is made."""
    return "FROM scratch\nADD rootfs.tar /\n" + _labels("debian:bookworm-slim") + 'CMD ["bash"]\n'


def buildpack_deps(has_extra_ca: bool) -> str:
    """The full Debian build environment: docs kept (the dpkg filter removed), as in the non-slim images."""
    packages = " \\\n        ".join(BUILDPACK_PACKAGES)
    return (
        "FROM debian:bookworm-slim\n"
        + _extra_ca(has_extra_ca)
        + "RUN rm -f /etc/dpkg/dpkg.cfg.d/docker \\\n"
        " && apt-get update \\\n"
        " && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\\n"
        f"        {packages} \\\n"
        " && rm -rf /var/lib/apt/lists/*\n"
        + _labels("buildpack-deps:bookworm")
        + 'CMD ["bash"]\n'
    )


def node(tag: str, parent: str, has_extra_ca: bool) -> str:
    """Node 20 and npm 10 in /usr/local (with headers for node-gyp) and the `node` user, on `parent`."""
    ca_env = f"ENV NODE_EXTRA_CA_CERTS={NODE_CA_BUNDLE}\n" if has_extra_ca else ""
    return (
        f"FROM {parent}\n"
        + _extra_ca(has_extra_ca)
        + "RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node\n"
        "COPY node-dist/ /usr/local/\n"
        + ca_env
        + _labels(tag)
        + 'CMD ["node"]\n'
    )


def python(tag: str, parent: str, full: bool, has_extra_ca: bool) -> str:
    """Debian's Python 3.11 with pip, venv, `python`/`pip` commands and Python.h; no PEP 668 marker.

    The slim variant takes only the headers out of the -dev packages, so its dpkg database lists no -dev package
    (as the official slim image, whose Python is built from source, lists none).
    """
    if full:
        install = "python3 python3-pip python3-venv python3-dev python-is-python3"
        headers = ""
    else:
        install = "ca-certificates python3 python3-pip python3-venv python-is-python3"
        headers = (
            " && cd /tmp && apt-get download libpython3.11-dev \\\n"
            " && for deb in /tmp/*.deb; do dpkg-deb --fsys-tarfile \"$deb\""
            " | tar -x -C / --wildcards './usr/include/*'; done \\\n"
            " && rm -f /tmp/*.deb \\\n"
        )
    return (
        f"FROM {parent}\n"
        "ENV LANG=C.UTF-8\n"
        + _extra_ca(has_extra_ca)
        + "RUN apt-get update \\\n"
        f" && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {install} \\\n"
        + headers
        + " && rm -f /usr/lib/python3*/EXTERNALLY-MANAGED \\\n"
        " && rm -rf /var/lib/apt/lists/* /root/.cache\n"
        + _labels(tag)
        + 'CMD ["python3"]\n'
    )


def postgres(tag: str, parent: str, has_extra_ca: bool) -> str:
    """Debian's PostgreSQL 15 behind the official image's interface.

    As the official image: user postgres (uid/gid 999, made before the package would pick another), no cluster made
    by the package (the entrypoint runs initdb into PGDATA on the first start), `listen_addresses = '*'` in the
    sample configuration, the server binaries on PATH, PGDATA a volume, SIGINT (fast shutdown) to stop.
    """
    bin_dir = f"/usr/lib/postgresql/{POSTGRES_MAJOR}/bin"
    sample = f"/usr/share/postgresql/{POSTGRES_MAJOR}/postgresql.conf.sample"
    install = "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends"
    return (
        f"FROM {parent}\n"
        + _extra_ca(has_extra_ca)
        + "RUN groupadd --system --gid 999 postgres \\\n"
        " && useradd --system --gid postgres --uid 999 --home-dir /var/lib/postgresql --shell /bin/bash postgres \\\n"
        " && mkdir -p /var/lib/postgresql && chown postgres:postgres /var/lib/postgresql \\\n"
        " && apt-get update \\\n"
        f" && {install} postgresql-common \\\n"
        " && sed -ri 's/#(create_main_cluster) .*$/\\1 = false/' /etc/postgresql-common/createcluster.conf \\\n"
        f" && {install} postgresql-{POSTGRES_MAJOR} \\\n"
        " && rm -rf /var/lib/apt/lists/* \\\n"
        f" && sed -ri \"s!^#?(listen_addresses)\\s*=\\s*\\S+.*!\\1 = '*'!\" {sample} \\\n"
        f" && grep -F \"listen_addresses = '*'\" {sample} \\\n"
        " && mkdir -p /var/run/postgresql /docker-entrypoint-initdb.d /var/lib/postgresql/data \\\n"
        " && chown postgres:postgres /var/run/postgresql /var/lib/postgresql/data \\\n"
        " && chmod 3777 /var/run/postgresql && chmod 1777 /var/lib/postgresql/data\n"
        f"ENV PG_MAJOR={POSTGRES_MAJOR} LANG=C.UTF-8 PGDATA=/var/lib/postgresql/data\n"
        f"ENV PATH=$PATH:{bin_dir}\n"
        "COPY docker-entrypoint.sh /usr/local/bin/\n"
        "VOLUME /var/lib/postgresql/data\n"
        + _labels(tag)
        + 'ENTRYPOINT ["docker-entrypoint.sh"]\n'
        "STOPSIGNAL SIGINT\n"
        "EXPOSE 5432\n"
        'CMD ["postgres"]\n'
    )
