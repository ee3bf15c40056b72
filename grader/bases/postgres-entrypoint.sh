#!/usr/bin/env bash
# docker-entrypoint.sh of the postgres:15 stand-in (grader/bases/recipes.py builds it in).
#
# The contract of the official image's entrypoint, kept small: on the first start (no PG_VERSION in PGDATA) it
# runs initdb as POSTGRES_USER with POSTGRES_PASSWORD, appends `host all all all POSTGRES_HOST_AUTH_METHOD` to
# pg_hba.conf, creates POSTGRES_DB, and runs /docker-entrypoint-initdb.d/*.sh|*.sql; then it execs the command.
# As root it prepares PGDATA and the socket folder, then drops to the `postgres` user with setpriv (util-linux),
# where the official image uses gosu. The *_FILE variants (POSTGRES_PASSWORD_FILE, ...) are read as there.
# Like the official image, connections over the Unix socket and loopback are trusted (initdb's default pg_hba).
set -Eeo pipefail

# file_env VAR [DEFAULT]: VAR from $VAR, or from the file named by $VAR_FILE, or DEFAULT.
file_env() {
	local var="$1" file_var="${1}_FILE" default="${2:-}" value
	if [ "${!var:-}" ] && [ "${!file_var:-}" ]; then
		printf >&2 'error: both %s and %s are set (they are exclusive)\n' "$var" "$file_var"
		exit 1
	fi
	value="$default"
	if [ "${!var:-}" ]; then
		value="${!var}"
	elif [ "${!file_var:-}" ]; then
		value="$(<"${!file_var}")"
	fi
	export "$var"="$value"
	unset "$file_var"
}

setup_env() {
	file_env POSTGRES_PASSWORD
	file_env POSTGRES_USER postgres
	file_env POSTGRES_DB "$POSTGRES_USER"
	file_env POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=}"
	DATABASE_ALREADY_EXISTS=
	if [ -s "$PGDATA/PG_VERSION" ]; then
		DATABASE_ALREADY_EXISTS=true
	fi
}

# As root: PGDATA owned by postgres with mode 0700, the socket folder writable for the server.
create_directories() {
	mkdir -p "$PGDATA"
	chmod 00700 "$PGDATA" || :
	mkdir -p /var/run/postgresql
	chmod 03775 /var/run/postgresql || :
	if [ "$(id -u)" = '0' ]; then
		find "$PGDATA" \! -user postgres -exec chown postgres: '{}' +
		find /var/run/postgresql \! -user postgres -exec chown postgres: '{}' +
	fi
}

verify_minimum_env() {
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != 'trust' ]; then
		cat >&2 <<-'EOF'
			Error: Database is uninitialized and superuser password is not specified.
			       Set POSTGRES_PASSWORD to a non-empty value for the superuser, or set
			       POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a password.
		EOF
		exit 1
	fi
}

init_database_dir() {
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words, as in the official image
	initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
}

setup_hba_conf() {
	shift # the leading `postgres`: the rest are server options that may set password_encryption
	local auth
	auth="$(postgres -C password_encryption "$@")"
	: "${POSTGRES_HOST_AUTH_METHOD:=$auth}"
	printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
}

# A server on the socket only, for the set-up: nothing can connect over TCP before it is done.
temp_server_start() {
	shift
	PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -w start \
		-o "$(printf '%q ' "$@") -c listen_addresses='' -p ${PGPORT:-5432}" >/dev/null
}

temp_server_stop() {
	PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
}

psql_setup() {
	PGHOST= PGHOSTADDR= psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"
}

setup_db() {
	local exists
	exists="$(POSTGRES_DB= psql_setup --dbname postgres --set db="$POSTGRES_DB" --tuples-only <<-'EOSQL'
		SELECT 1 FROM pg_database WHERE datname = :'db' ;
	EOSQL
	)"
	if [ -z "$exists" ]; then
		psql_setup --dbname postgres --set db="$POSTGRES_DB" <<-'EOSQL'
			CREATE DATABASE :"db" ;
		EOSQL
	fi
}

process_init_files() {
	local file
	for file in /docker-entrypoint-initdb.d/*; do
		case "$file" in
			*.sh) printf '%s: running %s\n' "$0" "$file"; . "$file" ;;
			*.sql) printf '%s: running %s\n' "$0" "$file"; psql_setup --dbname "$POSTGRES_DB" -f "$file" ;;
			*) ;;
		esac
	done
}

wants_help() {
	local arg
	for arg; do
		case "$arg" in
			-'?' | --help | --describe-config | -V | --version) return 0 ;;
		esac
	done
	return 1
}

main() {
	if [ "${1:0:1}" = '-' ]; then
		set -- postgres "$@"
	fi
	if [ "$1" = 'postgres' ] && ! wants_help "$@"; then
		setup_env
		create_directories
		if [ "$(id -u)" = '0' ]; then
			export HOME=/var/lib/postgresql
			exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
		fi
		if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
			verify_minimum_env
			init_database_dir
			setup_hba_conf "$@"
			export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
			temp_server_start "$@"
			setup_db
			process_init_files
			temp_server_stop
			unset PGPASSWORD
			printf '\nPostgreSQL init process complete; ready for start up.\n\n'
		fi
	fi
	exec "$@"
}

main "$@"
