"""Alembic environment: run by `cordon.respond.state.store.migrate` on a connection it passes in."""

from alembic import context

from cordon.respond.state.tables import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
