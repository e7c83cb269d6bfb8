#!/bin/sh
# Real services from images built of Debian packages (tests/service-images.sh),
# driven end to end with real clients (psql, curl):
#   1. PostgreSQL keeps its data in a named volume across containers; the
#      volume cannot be removed while a container uses it.
#   2. Two nginx containers serve one bind-mounted host folder.
#   3. --volumes-from: a backup container reads the database's volume.
#   4. A symlink planted in a container at a mount target cannot send the
#      mount outside the container's root.
# The images are built (once, cached) by the runner before the tests enter
# their network namespaces; without Debian's mirror this test is skipped.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "containers need root"
for t in curl psql; do
	command -v $t >/dev/null || skip "$t not found (scripts/setup.sh installs it)"
done
SVC=$("$REPO/tests/service-images.sh") || exit $?
export T
EXTRA_CLEANUP='"$MINIRUN" rm -f pg pg2 web1 web2 web3 sym >/dev/null 2>&1'
mr load -q -i "$SVC/nginx-docker.tar" && mr load -q -i "$SVC/postgres-docker.tar" ||
	{ bad "load the service images"; finish; }

# Until the server answers through its socket (initdb runs first on an empty volume).
pg_ready() { # NAME
	n=300
	while [ $n -gt 0 ]; do
		"$MINIRUN" exec "$1" pg_isready -q -U postgres 2>/dev/null && return 0
		sleep 0.2
		n=$((n - 1))
	done
	"$MINIRUN" logs "$1" 2>&1 | tail -20
	return 1
}
echo "== 1. PostgreSQL keeps its data in a named volume"
check "volume create mydata" sh -c '[ "$("$MINIRUN" volume create mydata)" = mydata ]'
mr run -d --name pg -e POSTGRES_PASSWORD=password -p 5432:5432 \
	-v mydata:/var/lib/postgresql/data postgres >/dev/null
check "postgres initialises the empty volume and gets ready" pg_ready pg
check "exec pg psql -c \"CREATE DATABASE mydb;\"" sh -c \
	'"$MINIRUN" exec pg psql -U postgres -c "CREATE DATABASE mydb;" | grep -qx "CREATE DATABASE"'
check "the host's psql logs in over the published port with the password" sh -c \
	'PGPASSWORD=password psql -h 127.0.0.1 -U postgres -X -Atc "select 40 + 2" | grep -qx 42'
check "...and a wrong password is refused" sh -c \
	'! PGPASSWORD=wrong psql -h 127.0.0.1 -U postgres -X -c "select 1" >/dev/null 2>&1'
check "the data lives in the volume" test -s "$MINIRUN_ROOT/volumes/mydata/_data/PG_VERSION"
mr rm -f pg >/dev/null
check "after rm -f pg, volume ls still shows mydata" sh -c '"$MINIRUN" volume ls -q | grep -qx mydata'
pg2=$(mr run -d --name pg2 -e POSTGRES_PASSWORD=password -p 5432:5432 \
	-v mydata:/var/lib/postgresql/data postgres)
check "a second container on the same volume gets ready" pg_ready pg2
check "exec pg2 psql -lqt lists mydb" sh -c \
	'"$MINIRUN" exec pg2 psql -U postgres -lqt | cut -d"|" -f1 | grep -qw mydb'
check "...and so does the host's psql" sh -c \
	'PGPASSWORD=password psql -h 127.0.0.1 -U postgres -X -lqt | cut -d"|" -f1 | grep -qw mydb'

echo "== --volumes-from: a backup of the database's volume"
mkdir "$T/backup"
check "run --rm --volumes-from pg2 -v backup:/backup tar" sh -c '
	"$MINIRUN" run --rm --network none --volumes-from pg2 -v "$T/backup:/backup" postgres \
		tar -C /var/lib/postgresql -cf /backup/data.tar data/PG_VERSION data/base &&
	tar -tf "$T/backup/data.tar" | grep -qx data/PG_VERSION'

mr volume rm mydata >"$T/err" 2>&1; rc=$?
check "volume rm mydata while pg2 runs: exit 1, names it" sh -c \
	"[ $rc = 1 ] && grep -qx 'Error: remove mydata: volume is in use - \[$pg2\]' $T/err"
df_images=$(mr system df | awk '/^Images/ { print $4 }')
check "stop sends the image's StopSignal (SIGINT): a clean, fast shutdown" sh -c \
	'"$MINIRUN" stop pg2 >/dev/null && "$MINIRUN" logs pg2 2>&1 | grep -q "database system is shut down"'
mr volume rm mydata >/dev/null 2>&1; rc=$?
check "a stopped container still holds the volume" [ $rc = 1 ]
mr rm pg2 >/dev/null
check "after rm pg2, volume rm mydata succeeds" sh -c '[ "$("$MINIRUN" volume rm mydata)" = mydata ]'

echo "== system df: the two images share their Debian base layer, counted once"
# Human sizes (Docker's units, decimal) to bytes.
bytes() { echo "$1" | awk '{ n = $1 + 0; u = $1; sub(/^[0-9.]+/, "", u);
	m = u == "kB" ? 1e3 : u == "MB" ? 1e6 : u == "GB" ? 1e9 : 1; printf "%.0f\n", n * m }'; }
sizes=$(mr images | awk '$1 == "nginx" || $1 == "postgres" { print $NF }' | tr '\n' ' ')
sum=0
for s in $sizes; do sum=$((sum + $(bytes "$s"))); done
echo "  images: $sizes; system df: $df_images"
check "system df's image size is less than the images' sizes added up" \
	sh -c "[ $(bytes "$df_images") -gt 0 ] && [ $(bytes "$df_images") -lt $sum ]"

echo "== 2. two nginx containers serve one bind-mounted host folder"
nvol=$(mr volume ls -q | wc -l)
mkdir "$T/index"
mr run -d --name web1 -p 8000:80 -v "$T/index:/usr/share/nginx/html" nginx >/dev/null
mr run -d --name web2 -p 8001:80 -v "$T/index:/usr/share/nginx/html" nginx >/dev/null
check "both answer" sh -c 'for p in 8000 8001; do n=100; until [ "$(curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:$p/)" != 000 ]; do n=$((n - 1)); [ $n -gt 0 ] || exit 1; sleep 0.1; done; done'
check "an empty folder gives 403" sh -c '[ "$(curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:8000/)" = 403 ]'
echo Hello >"$T/index/index.html"
check "index.html written on the host is served by both" sh -c \
	'[ "$(curl -s http://127.0.0.1:8000/)" = Hello ] && [ "$(curl -s http://127.0.0.1:8001/)" = Hello ]'
mr exec web1 sh -c 'echo from-web1 > /usr/share/nginx/html/page.html'
check "a write from inside web1 is seen on the host" grep -qx from-web1 "$T/index/page.html"
check "...and served by web2" sh -c '[ "$(curl -s http://127.0.0.1:8001/page.html)" = from-web1 ]'
check "the access log is the container's stdout" sh -c '"$MINIRUN" logs web2 2>&1 | grep -q "GET /page.html"'
check "volume ls shows no volume for the bind mounts" sh -c "[ \$(\"\$MINIRUN\" volume ls -q | wc -l) = $nvol ]"
mr rm -f web1 web2 >/dev/null
check "the host folder survives the containers" sh -c '[ "$(cat "$T/index/index.html")" = Hello ]'

echo "== 3. cp in and out of a running nginx"
mr run -d --name web3 -p 8002:80 nginx >/dev/null
check "nginx answers with the image's page" sh -c 'n=100; until curl -s http://127.0.0.1:8002/ | grep -q "Welcome to nginx"; do n=$((n - 1)); [ $n -gt 0 ] || exit 1; sleep 0.1; done'
mr cp web3:/usr/share/nginx/html/index.html "$T/orig.html"
check "cp out: the image's index.html" grep -q "Welcome to nginx" "$T/orig.html"
echo "Hello from cp" >"$T/new.html"
mr cp "$T/new.html" web3:usr/share/nginx/html/index.html
check "cp in (a path without a leading /): served at once" sh -c '[ "$(curl -s http://127.0.0.1:8002/)" = "Hello from cp" ]'
mr rm -f web3 >/dev/null
mr run -d --name web3 -p 8002:80 nginx >/dev/null
mr cp web3:/usr/share/nginx/html/index.html "$T/again.html"
check "after rm -f and a new run, cp out shows the image's original file again" cmp -s "$T/orig.html" "$T/again.html"
mr rm -f web3 >/dev/null

echo "== 4. a symlink at a mount target stays inside the container"
# First start: the container replaces the folders above its mount targets by
# symlinks, one absolute (/data -> /etc), one relative that climbs out
# (/rel -> ../../../../../..$SENT). Second start: the mounts are applied
# through those symlinks, which must resolve inside the container's root.
SENT=$T/sentinel
mkdir "$SENT"
echo keep >"$SENT/keep"
had_etc_sub=$([ -e /etc/sub ] && echo yes || echo no)
mr run --name sym --network none -v symabs:/data/sub -v symrel:/rel/sub nginx sh -c "
	if [ -L /data ]; then
		echo abs >/data/sub/f && echo rel >/rel/sub/f
	else
		mv /data /data.old && ln -s /etc /data && mv /rel /rel.old && ln -s ../../../../../..$SENT /rel
	fi" >"$T/sym.out" 2>&1; rc=$?
check "first start plants the symlinks" sh -c "[ $rc = 0 ] || { cat $T/sym.out; exit 1; }"
mr start -a sym >"$T/sym.out" 2>&1; rc=$?
check "second start mounts through them and writes" sh -c "[ $rc = 0 ] || { cat $T/sym.out; exit 1; }"
check "the absolute link's volume landed inside the container" sh -c \
	'[ "$(cat "$MINIRUN_ROOT/volumes/symabs/_data/f")" = abs ]'
check "the relative link's volume landed inside the container" sh -c \
	'[ "$(cat "$MINIRUN_ROOT/volumes/symrel/_data/f")" = rel ]'
check "the host sentinel folder is untouched" sh -c "[ \"\$(ls -A '$SENT')\" = keep ]"
check "nothing appeared at the host's /etc/sub" sh -c "[ $had_etc_sub = yes ] || [ ! -e /etc/sub ]"
mr rm -f -v sym >/dev/null
mr volume rm symabs symrel >/dev/null
finish
