# Asterisk for the ast_bridge lab, as lab/lab.sh provisions it without Docker:
# the Debian *sid* packages (ASTERISK_PACKAGES in lab/lab.sh), asterisk-conf/
# copied over /etc/asterisk/ (manager.conf with timestampevents and the bridge
# user's eventfilter included, as is), Asterisk in the foreground as user
# asterisk. Build context: the repository root (see compose.yaml).
FROM debian:sid-slim

# lab.sh: debootstrap --variant=minbase --include="$ASTERISK_PACKAGES" sid
# (debootstrap resolves Depends only, hence --no-install-recommends)
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        asterisk asterisk-modules asterisk-config asterisk-core-sounds-en-gsm asterisk-moh-opsound-gsm \
    && rm -rf /var/lib/apt/lists/*

# lab.sh start_asterisk: cp "$ROOT"/asterisk-conf/*.conf "$CHROOT/etc/asterisk/"
COPY asterisk-conf/*.conf /etc/asterisk/

# /var/run is /run, which nothing in a container creates for Asterisk (no
# systemd-tmpfiles); then the same chown as lab.sh start_asterisk, and the two
# folders lab.sh start_bridge makes for Record and Play/Speak:
#   /var/spool/asterisk/monitor/ast_bridge  Asterisk records into it (owner asterisk)
#   /var/lib/asterisk/ast_bridge-media      the bridge's converted audio, read by Asterisk
# compose.yaml mounts a named volume on each, shared with the bridge; an empty
# named volume starts as a copy of these (owner and mode included).
RUN mkdir -p /var/run/asterisk \
    && chown -R asterisk:asterisk /etc/asterisk /var/lib/asterisk \
        /var/log/asterisk /var/spool/asterisk /var/run/asterisk \
    && install -d -o asterisk -g asterisk /var/spool/asterisk/monitor/ast_bridge \
    && install -d -m 755 /var/lib/asterisk/ast_bridge-media

# lab.sh: chroot "$CHROOT" /usr/sbin/asterisk -f -U asterisk -G asterisk
# The same chown and install -d again at every start, as lab.sh does at every
# start_asterisk / start_bridge: the volumes may come from an older image (or
# have been created by the bridge first), and the uid of asterisk is this
# image's, not the bridge's. Its output is `docker compose logs asterisk` (the
# lab's lab/run/asterisk.out); the CLI is `docker compose exec asterisk asterisk -r`.
CMD ["/bin/sh", "-c", "set -e; mkdir -p /var/run/asterisk; chown -R asterisk:asterisk /etc/asterisk /var/lib/asterisk /var/log/asterisk /var/spool/asterisk /var/run/asterisk; install -d -o asterisk -g asterisk /var/spool/asterisk/monitor/ast_bridge; install -d -m 755 /var/lib/asterisk/ast_bridge-media; exec /usr/sbin/asterisk -f -U asterisk -G asterisk"]
