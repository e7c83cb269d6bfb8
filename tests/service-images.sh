#!/bin/sh
# tests/service-images.sh: build real service images (nginx, PostgreSQL 15)
# from Debian packages, once, for tests/integration/33_services.sh.
#
# Usage:  SVC=$(tests/service-images.sh)    (prints the image folder on stdout)
#         exit 77 with "skipped: REASON" on stderr when it cannot build here
#         (not root, a tool missing, the Debian mirror not reachable)
#
# Images are made the way a Dockerfile would make them, with real tools:
#   base layer     debootstrap --variant=minbase bookworm, from the machine's own
#                  Debian mirror (read from its apt sources at run time; no
#                  mirror name is written in this repository), apt lists and
#                  caches removed; GNU tar.
#   service layer  an overlayfs upper folder over the base, filled by
#                  `chroot apt-get install --no-install-recommends` (its own
#                  mount namespace, services not started: policy-rc.d), caches
#                  cleaned; overlay whiteouts turned into OCI .wh. files; GNU tar.
#   image          `umoci raw add-layer` + `umoci config`, then `skopeo copy` to a
#                  docker-archive. Both images share the same base layer blob.
# Files in the folder (the names are a contract):
#   nginx-docker.tar     nginx:latest    Cmd nginx -g "daemon off;", ExposedPorts
#                        80/tcp, StopSignal SIGQUIT; serves /usr/share/nginx/html
#                        (empty folder: 403), logs to the container's stdout/stderr
#   postgres-docker.tar  postgres:latest Entrypoint docker-entrypoint.sh, Cmd
#                        postgres, Env PATH with /usr/lib/postgresql/15/bin,
#                        PGDATA=/var/lib/postgresql/data, Volumes that folder,
#                        ExposedPorts 5432/tcp, StopSignal SIGINT. The entrypoint
#                        does what the official image's does at its core: reads
#                        POSTGRES_PASSWORD (and POSTGRES_USER), runs initdb as user
#                        postgres into an empty PGDATA with that password,
#                        listen_addresses='*' and password logins from any host,
#                        then execs postgres as user postgres.
# Cache: ${MINIRUN_TEST_CACHE:-/var/cache/minirun-tests}/services-<hash>/, where
# <hash> covers this script and the versions of the tools used (not the
# Debian packages' versions: a cached image stays until the recipe changes).
# Built in a temporary folder renamed into place under a lock; leftovers of a
# killed build are removed by the next one. Cold build: about 2 minutes.
set -eu

self=$(readlink -f "$0")
cache=${MINIRUN_TEST_CACHE:-/var/cache/minirun-tests}
pkgs="debootstrap umoci skopeo tar"
# shellcheck disable=SC2086 # $pkgs is a list of words
hash=$({ cat "$self"; dpkg-query -W -f '${Package} ${Version}\n' $pkgs 2>&1; } |
	sha256sum | cut -c1-16)
out=$cache/services-$hash
if [ -f "$out/images.list" ]; then
	echo "$out"
	exit 0
fi

log() { echo "service-images: $*" >&2; }
skip() { echo "skipped: $*" >&2; exit 77; }

[ "$(id -u)" = 0 ] || skip "building the service images needs root (chroot, mounts)"
for t in debootstrap umoci skopeo tar curl unshare chroot flock getfattr; do
	command -v "$t" >/dev/null 2>&1 || skip "$t not found (scripts/setup.sh installs it)"
done
# The machine's own Debian mirror: the first "deb" source for bookworm.
mirror=$(awk 'BEGIN { RS = ""; FS = "\n" }
	/(^|\n)Types:[^\n]*deb([ \n]|$)/ && /(^|\n)Suites:[^\n]* bookworm([ \n]|$)/ {
		for (i = 1; i <= NF; i++) if ($i ~ /^URIs:/) { split($i, a, " "); print a[2]; exit } }' \
	/etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' \
	/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1)
[ -n "$mirror" ] || skip "no Debian bookworm mirror in the machine's apt sources"
why=$(curl -fsS -m 15 -o /dev/null "$mirror/dists/bookworm/Release" 2>&1) ||
	skip "the Debian mirror is not reachable from here ($mirror: $why)"

mkdir -p "$cache"
exec 9>"$cache/.lock-services"
flock 9
if [ -f "$out/images.list" ]; then
	echo "$out"
	exit 0
fi
# Under the lock every temporary folder is a leftover of a killed build
# (its mounts died with the build's mount namespace).
rm -rf --one-file-system "$cache"/.tmp-services-*
tmp=$cache/.tmp-services-$hash-$$
trap 'rc=$?; rm -rf --one-file-system "$tmp"; [ $rc = 0 ] || log "failed (exit $rc)"' EXIT
trap 'exit 130' INT TERM HUP
mkdir "$tmp"
cd "$tmp"
start=$(date +%s)
log "building into $out (from $mirror)"

# --- base layer: debootstrap -------------------------------------------------
debootstrap --variant=minbase bookworm base "$mirror" >debootstrap.log 2>&1 || {
	tail -20 debootstrap.log >&2
	log "debootstrap failed"
	exit 1
}
# As Debian's Docker images: services are never started by package scripts.
printf '#!/bin/sh\nexit 101\n' >base/usr/sbin/policy-rc.d
chmod 755 base/usr/sbin/policy-rc.d
rm -rf base/var/lib/apt/lists/* base/var/cache/apt/*.bin base/var/cache/apt/archives/*.deb \
	base/var/log/*.log base/var/log/apt/* base/debootstrap
: >base/etc/resolv.conf
mklayer() { # FOLDER TAR: numeric owners, sorted names, no atime/ctime noise
	tar --numeric-owner --sort=name --format=posix --pax-option=delete=atime,delete=ctime \
		-C "$1" -cf "$2" .
}
mklayer base base.tar
log "base layer: $(du -sm base.tar | cut -f1) MiB after $(($(date +%s) - start)) s"
umoci init --layout oci
umoci new --image oci:base
umoci raw add-layer --image oci:base base.tar
rm base.tar

# --- a service layer: apt-get install in an overlay over the base ------------
# install NAME SETUP-SCRIPT PACKAGES...: the files of folder NAME.add (if any)
# are copied in first; SETUP-SCRIPT runs in the chroot after the install.
install() {
	name=$1 setup=$2
	shift 2
	mkdir "$name.upper" "$name.work" "$name.root"
	cp /etc/resolv.conf hostresolv
	# A mount namespace of its own: the overlay and /proc go away with it.
	unshare --mount --propagation private sh -eu -c '
		mount -t overlay overlay -o "lowerdir=base,upperdir=$1.upper,workdir=$1.work" "$1.root"
		cp hostresolv "$1.root/etc/resolv.conf"
		[ ! -d "$1.add" ] || cp -a "$1.add/." "$1.root/"
		mount -t proc proc "$1.root/proc"
		name=$1 setup=$2; shift 2
		chroot "$name.root" sh -eu -c "
			export DEBIAN_FRONTEND=noninteractive
			apt-get update -q
			apt-get install -y -q --no-install-recommends $*
			$setup
			apt-get clean
			rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt/* /var/log/dpkg.log
			: >/etc/resolv.conf"
		umount "$name.root/proc" "$name.root"' sh "$name" "$setup" "$@" >"$name.log" 2>&1 || {
		tail -20 "$name.log" >&2
		log "$name: apt-get install failed"
		exit 1
	}
	rm -rf "$name.work" "$name.root"
	# overlayfs records a deletion as a 0:0 character device and a replaced
	# folder as trusted.overlay.opaque; OCI layers say .wh.NAME and .wh..wh..opq.
	find "$name.upper" -type c | while read -r f; do
		[ "$(stat -c %t:%T "$f")" = 0:0 ] || continue
		rm "$f"
		: >"$(dirname "$f")/.wh.$(basename "$f")"
	done
	find "$name.upper" -type d | while read -r d; do
		if [ "$(getfattr --only-values -n trusted.overlay.opaque "$d" 2>/dev/null)" = y ]; then
			: >"$d/.wh..wh..opq"
		fi
	done
	mklayer "$name.upper" "$name.tar"
	rm -rf "$name.upper"
	umoci config --image oci:base --tag "$name" --no-history
	umoci raw add-layer --image "oci:$name" "$name.tar"
	rm "$name.tar"
	log "$name layer done after $(($(date +%s) - start)) s"
}

# nginx as the official image lays it out: the default site serves
# /usr/share/nginx/html, logs go to the container's stdout and stderr.
install nginx '
	rm -f /etc/nginx/sites-enabled/default
	mkdir -p /usr/share/nginx/html
	printf "server {\n\tlisten 80;\n\tlisten [::]:80;\n\tserver_name localhost;\n\tlocation / {\n\t\troot /usr/share/nginx/html;\n\t\tindex index.html index.htm;\n\t}\n}\n" >/etc/nginx/conf.d/default.conf
	ln -sf /dev/stdout /var/log/nginx/access.log
	ln -sf /dev/stderr /var/log/nginx/error.log' nginx
umoci config --image oci:nginx --config.cmd nginx --config.cmd -g --config.cmd "daemon off;" \
	--config.exposedports 80/tcp --config.stopsignal SIGQUIT \
	--config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	--history.created_by "apt-get install nginx"

# PostgreSQL 15: no cluster made at install time (PGDATA is the entrypoint's).
mkdir -p postgres.add/usr/local/bin postgres.add/etc/postgresql-common
echo "create_main_cluster = false" >postgres.add/etc/postgresql-common/createcluster.conf
cat >postgres.add/usr/local/bin/docker-entrypoint.sh <<'EOF'
#!/bin/sh
# The core of the official postgres image's docker-entrypoint.sh.
set -e
[ "${1#-}" = "$1" ] || set -- postgres "$@"
if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	chown postgres:postgres "$PGDATA" /var/run/postgresql
	chmod 700 "$PGDATA"
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "${POSTGRES_PASSWORD:-}" ]; then
		echo "Error: Database is uninitialized and superuser password is not specified." >&2
		echo "       You must specify POSTGRES_PASSWORD to a non-empty value for the superuser." >&2
		exit 1
	fi
	pw=$(mktemp)
	printf '%s\n' "$POSTGRES_PASSWORD" >"$pw"
	initdb --username="${POSTGRES_USER:-postgres}" --pwfile="$pw" -D "$PGDATA" \
		--encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256
	rm -f "$pw"
	echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
	echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
	echo "PostgreSQL init process complete; ready for start up."
fi
exec "$@"
EOF
chmod 755 postgres.add/usr/local/bin/docker-entrypoint.sh
install postgres : postgresql-15
umoci config --image oci:postgres --config.entrypoint docker-entrypoint.sh --config.cmd postgres \
	--config.exposedports 5432/tcp --config.stopsignal SIGINT \
	--config.volume /var/lib/postgresql/data \
	--config.env PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	--config.env PGDATA=/var/lib/postgresql/data --config.env LANG=C.UTF-8 \
	--history.created_by "apt-get install postgresql-15"

mkdir img
for n in nginx postgres; do
	skopeo copy -q "oci:oci:$n" "docker-archive:img/$n-docker.tar:$n:latest" >&2
	echo "$n:latest $n-docker.tar" >>img/images.list
done
rm -rf --one-file-system oci base hostresolv postgres.add
mv *.log img/
sync -f img 2>/dev/null || true
cd /
mv -T "$tmp/img" "$out"
log "built in $(($(date +%s) - start)) s"
echo "$out"
