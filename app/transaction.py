"""One way for services to own a unit of work, whether or not the session has autobegun."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, scoped_session


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Commit the work done inside the block, or roll it back entirely on any error.

    Reads made earlier in a request (loading the signed-in user, say) autobegin a
    transaction; ``Session.begin()`` would refuse to start another, so that case commits the
    already-begun transaction instead.
    """
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        with session.begin():
            yield session
        return
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    session.commit()
