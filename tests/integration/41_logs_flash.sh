#!/bin/sh
# Flash-friendly logs: Docker's json-file options (max-size, max-file; also
# comma-joined in one --log-opt) cap what a container writes, and
# location=ram keeps the log files in the run folder (tmpfs on a device)
# instead of the store: nothing of the log is written under the store,
# `logs` reads them there, `rm` removes them, and after a reboot (run folder
# gone) `logs` shows nothing without failing. The boot key `log` passes the
# same options.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/_ctr.sh"

LINES='i=0; while [ $i -lt 600 ]; do echo "line $i"; i=$((i+1)); done'

# ---- comma-joined options, on the store ----
mr run -d --name st --log-opt max-size=4k,max-file=2 busybox sh -c "$LINES" >/dev/null
mr wait st >/dev/null
sid=$(mr inspect -f '{{.Id}}' st)
sdir=$MINIRUN_ROOT/containers/$sid
check "max-size=4k,max-file=2 in one --log-opt: log and log.1, nothing more" sh -c \
	"[ -f $sdir/log ] && [ -f $sdir/log.1 ] && [ ! -e $sdir/log.2 ]"
check "...each file under 4k" sh -c "[ \$(stat -c %s $sdir/log $sdir/log.1 | sort -n | tail -1) -le 4096 ]"
check "...logs ends with line 599" sh -c "'$MINIRUN' logs st | tail -1 | grep -qx 'line 599'"
mr rm st >/dev/null

# ---- location=ram ----
mr run -d --name ram --log-opt max-size=4k --log-opt max-file=3 --log-opt location=ram busybox \
	sh -c "$LINES" >/dev/null
mr wait ram >/dev/null
rid=$(mr inspect -f '{{.Id}}' ram)
rdir=$MINIRUN_RUNDIR/$rid
check "location=ram: log, log.1, log.2 in the run folder" sh -c \
	"[ -f $rdir/log ] && [ -f $rdir/log.1 ] && [ -f $rdir/log.2 ] && [ ! -e $rdir/log.3 ]"
check "location=ram: each file under max-size (4k x 3 in RAM at most)" sh -c \
	"[ \$(stat -c %s $rdir/log $rdir/log.1 $rdir/log.2 | sort -n | tail -1) -le 4096 ]"
check "location=ram: no log file in the store" sh -c \
	"! ls $MINIRUN_ROOT/containers/$rid | grep -q '^log'"
check "location=ram: logs shows the newest lines in order" sh -c \
	"'$MINIRUN' logs ram | tail -1 | grep -qx 'line 599' && '$MINIRUN' logs ram | awk '{print \$2}' | sort -n -c"
check "location=ram: inspect's LogConfig says so" sh -c \
	"'$MINIRUN' inspect -f '{{json .HostConfig.LogConfig}}' ram | grep -qF '\"max-size\":\"4096\",\"max-file\":\"3\",\"location\":\"ram\"'"
# logs -f of a running container reads the RAM file as it grows
mr run -d --name ramf --log-opt location=ram busybox sh -c 'echo first; echo oops >&2; sleep 0.5; echo second' >/dev/null
check "location=ram: logs -f follows until the container ends" sh -c \
	"[ \"\$('$MINIRUN' logs -f ramf 2>/dev/null | tr '\n' ' ')\" = 'first second ' ]"
check "location=ram: stderr kept apart" sh -c "[ \"\$('$MINIRUN' logs ramf 2>&1 >/dev/null)\" = oops ]"
mr rm ramf >/dev/null
# a reboot: the run folder (tmpfs) is gone, the container is not
mr rm ram >/dev/null
check "location=ram: rm removes the run folder with its logs" [ ! -e "$rdir" ]
mr run -d --name gone --log-opt location=ram busybox echo hello >/dev/null
mr wait gone >/dev/null
check "location=ram: logs before a reboot" sh -c "[ \"\$('$MINIRUN' logs gone)\" = hello ]"
mv "$MINIRUN_RUNDIR" "$MINIRUN_RUNDIR.old"
mr logs gone >"$T/gone.out" 2>&1
rc=$?
check "after a reboot: logs prints nothing, exit 0" sh -c "[ $rc = 0 ] && [ ! -s '$T/gone.out' ]"
mv "$MINIRUN_RUNDIR.old" "$MINIRUN_RUNDIR"
mr rm gone >/dev/null

# ---- refused ----
check "--log-opt location=disk: 125, one line" ctr_run_refused "invalid log opt 'location=disk'" --log-opt location=disk
check "--log-opt max-size=4k,max-file=0: 125 naming the bad one" ctr_run_refused "invalid log opt 'max-file=0'" --log-opt max-size=4k,max-file=0

# ---- the boot key ----
mkdir -p "$T/boot"
cat >"$T/boot/chatty.conf" <<'EOC'
image = busybox:latest
command = sh -c 'echo booted'
network = none
log = max-size=8k,max-file=2,location=ram
EOC
mr up "$T/boot" >"$T/up.out" 2>&1
cat "$T/up.out"
check "boot key log: the options are in the container" sh -c \
	"'$MINIRUN' inspect -f '{{json .HostConfig.LogConfig.Config}}' chatty | grep -qxF '{\"max-size\":\"8192\",\"max-file\":\"2\",\"location\":\"ram\"}'"
mr wait chatty >/dev/null
check "boot key log: logs read from the run folder" sh -c \
	"[ \"\$('$MINIRUN' logs chatty)\" = booted ] && [ -f $MINIRUN_RUNDIR/\$('$MINIRUN' inspect -f '{{.Id}}' chatty)/log ]"
mr down "$T/boot" >/dev/null 2>&1
finish
