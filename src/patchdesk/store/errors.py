"""The database errors the commands above the store catch, so that only the store imports
SQLAlchemy: ``SQLAlchemyError`` (anything the database refused or could not do) and
``IntegrityError`` (a constraint refused a write, e.g. a concurrent import)."""

from sqlalchemy.exc import IntegrityError as IntegrityError
from sqlalchemy.exc import SQLAlchemyError as SQLAlchemyError
