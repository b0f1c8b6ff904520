//! Start flag-server instances on port 0 for tests (owned by the API work).
