#!/bin/sh
# Make this machine (db2) a streaming standby of the primary (db1): docs/deployment.md,
# "Several machines: PostgreSQL and app nodes". Run as root on db2, after db1 is set up (its
# conf.d/poi.conf, pg_hba lines and the replicator role). Read it first: it ERASES this machine's
# cluster 15/main. The same commands, with the names swapped, turn the old primary into a standby
# of the new one after a switchover or failover.
#   PRIMARY=10.0.0.21 SELF=db2 sh deploy/postgresql/standby-setup.sh
set -eu
PRIMARY=${PRIMARY:?the primary's address, e.g. 10.0.0.21}
SELF=${SELF:?this machine's name as the primary knows it, e.g. db2}
DATA=/var/lib/postgresql/15/main

apt-get install -y postgresql-15 postgresql-15-postgis-3     # the same versions as the primary
install -m 0644 deploy/postgresql/primary.conf /etc/postgresql/15/main/conf.d/poi.conf
grep -q 'replicator' /etc/postgresql/15/main/pg_hba.conf \
    || cat deploy/postgresql/pg_hba-poi.conf >> /etc/postgresql/15/main/pg_hba.conf

# The replicator's password, read by pg_basebackup (and written by -R into postgresql.auto.conf,
# mode 0600, for the standby's WAL receiver).
if [ ! -s ~postgres/.pgpass ]; then
    printf 'replicator password: ' && stty -echo && read -r PASSWORD && stty echo && echo
    printf '*:5432:replication:replicator:%s\n' "$PASSWORD" > ~postgres/.pgpass
    chown postgres:postgres ~postgres/.pgpass && chmod 0600 ~postgres/.pgpass
fi

systemctl stop postgresql@15-main
rm -rf "$DATA.old" && mv "$DATA" "$DATA.old"     # removed by hand once the standby streams

# -R: write standby.signal and primary_conninfo (with application_name, the name
#     synchronous_standby_names lists); -X stream: the WAL made during the copy comes along;
# -C -S: create the replication slot named after this machine on the primary, so the primary
#     keeps the WAL this standby has not received yet (up to max_slot_wal_keep_size).
# If the slot already exists on the primary (a second attempt), drop -C.
runuser -u postgres -- pg_basebackup \
    -d "host=$PRIMARY port=5432 user=replicator application_name=$SELF" \
    -D "$DATA" -R -X stream -C -S "$SELF" --checkpoint=fast -P

systemctl start postgresql@15-main
# Check, here: the standby is in recovery and receiving.
runuser -u postgres -- psql -Atc "SELECT pg_is_in_recovery(), status, sender_host FROM pg_stat_wal_receiver"
# and on the primary: SELECT application_name, state, sync_state FROM pg_stat_replication;
echo "standby $SELF streams from $PRIMARY; once sure, rm -rf $DATA.old"
