/**
 * The lab initramfs's `/init` and its udhcpc hook, as busybox sh text. The machine plays a
 * freshly installed node's first boot: network up, the real Ignition (fetch, then files) against
 * the config the seed renders for its role, then a report of what Ignition wrote, then off.
 * Facts behind it are in lab-findings.md ("Ignition 2.14 (Debian) as a test peer").
 */

/** udhcpc calls this on lease events; it configures eth0 and leaves the lease for /init. */
export const UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface"
    [ -n "$router" ] && ip route add default via "\${router%% *}" dev "$interface"
    { echo "IP=$ip"; echo "MASK=$mask"; } > /run/dhcp.env ;;
esac
exit 0
`;

export const INIT_SCRIPT = `#!/bin/sh
# metalseed lab /init: DHCP, Ignition fetch + files, report to the seed, power off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
# Ignition needs /proc (it reads /proc/cmdline) and a writable /run (fetched config goes there).
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /sysroot
up() { cut -d' ' -f1 /proc/uptime; }
say() { echo "METALSEED-LAB[$(up)]: $*"; }
arg() { for a in $(cat /proc/cmdline); do case "$a" in "$1"=*) echo "\${a#*=}";; esac; done; }
say "init started"

# NIC drivers are modules in Debian's kernel; modules.order is already in dependency order.
for m in $(cat /modules.order); do insmod "/lib/modules/$m" 2>/dev/null || say "insmod $m failed"; done
ip link set lo up
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
MAC=$(cat /sys/class/net/eth0/address)
say "eth0 mac=$MAC"
udhcpc -i eth0 -f -q -n -t 10 -T 2 -s /udhcpc.script -V metalseed-lab || { say "DHCP failed"; poweroff -f; }
. /run/dhcp.env
say "dhcp bound ip=$IP/$MASK"

# The seed: metalseed.seed=http://host:port, else the scheme://host[:port] of the config URL.
URL=$(arg ignition.config.url)
SEED=$(arg metalseed.seed)
[ -n "$SEED" ] || SEED=$(echo "$URL" | sed -n 's#^\\(http[s]*://[^/?]*\\).*#\\1#p')
PLATFORM=$(arg ignition.platform.id); [ -n "$PLATFORM" ] || PLATFORM=metal

RESULT=failed
if [ -n "$URL" ]; then
  # Debian builds Ignition with SELinux relabelling: the files stage reads
  # <root>/etc/selinux/config and runs setfiles (a no-op here), or it exits 1 after writing.
  mkdir -p /sysroot/etc/selinux
  printf 'SELINUX=disabled\\nSELINUXTYPE=targeted\\n' > /sysroot/etc/selinux/config
  say "ignition fetch ($URL)"
  if ignition -platform "$PLATFORM" -stage fetch -root /sysroot -log-to-stdout -fetch-timeout 60s \\
     && [ -s /run/ignition.json ]; then
    say "ignition files"
    ignition -platform "$PLATFORM" -stage files -root /sysroot -log-to-stdout && RESULT=ok
  fi
else
  say "no ignition.config.url on the command line"
fi
rm -f /sysroot/etc/selinux/config; rmdir /sysroot/etc/selinux 2>/dev/null

# Files written under /sysroot, as absolute paths; '+' is a space in a form body.
FILES=$(cd /sysroot && find . -type f -o -type l | sed 's#^\\.##' | sort | tr '\\n' '+')
HN=$(cat /sysroot/etc/hostname 2>/dev/null | tr -d '\\n')
say "ignition result=$RESULT hostname=$HN files=$FILES"
i=0
until wget -q -O /dev/null --post-data "hostname=$HN&address=$IP&result=$RESULT&files=$FILES" "$SEED/report?mac=$MAC"; do
  i=$((i+1)); [ $i -ge 10 ] && { say "report failed"; break; }
  sleep 1
done
say "reported to $SEED; powering off"
sync; poweroff -f
`;
