"""Every write is one command here: role, scope and version are checked once, then the
store is called once. The API, the console and the CLI are thin shells over these commands.

Errors are the domain's and the store's (Forbidden, NotFoundError, VersionConflict,
ValidationError, DuplicateIdError); each shell translates them into its own answer.
"""
