"""Change events: what the core publishes after a user write, and how every process hears it.

An event names a user by uuid and says what happened (a ``Kind``); it carries no field value and
no secret, so each listener re-reads what it may see. ``publish`` records events in the writing
session's transaction and they are delivered only once it commits:

* on PostgreSQL as ``NOTIFY`` on one channel, sent inside the transaction (PostgreSQL delivers a
  notification only on commit, and drops it on rollback), to every process that listens on the
  same database (``gql_users.events.hub``: one listening connection per process);
* on SQLite, held by the session and handed to this process's hub of that database file after
  the commit (other processes on the file hear nothing).
"""

from gql_users.events.hub import Hub, Subscription
from gql_users.events.messages import CHANNEL, Event, Kind
from gql_users.events.publish import publish

__all__ = ["CHANNEL", "Event", "Hub", "Kind", "Subscription", "publish"]
