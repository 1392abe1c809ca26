# Asterisk for the ast_bridge lab, as lab/lab.sh provisions it without Docker:
# the Debian *sid* packages (ASTERISK_PACKAGES in lab/lab.sh), asterisk-conf/
# copied over /etc/asterisk/, Asterisk in the foreground as user asterisk.
# Build context: the repository root (see compose.yaml).
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
# systemd-tmpfiles); then the same chown as lab.sh
RUN mkdir -p /var/run/asterisk \
    && chown -R asterisk:asterisk /etc/asterisk /var/lib/asterisk \
        /var/log/asterisk /var/spool/asterisk /var/run/asterisk

# lab.sh: chroot "$CHROOT" /usr/sbin/asterisk -f -U asterisk -G asterisk
# Its output is `docker compose logs asterisk` (the lab's lab/run/asterisk.out);
# the CLI is `docker compose exec asterisk asterisk -r`.
CMD ["/usr/sbin/asterisk", "-f", "-U", "asterisk", "-G", "asterisk"]
