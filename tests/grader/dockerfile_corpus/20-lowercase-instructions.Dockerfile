from debian:bookworm-slim as base
run true
label a=b
from base AS final
user nobody
cmd ["true"]
