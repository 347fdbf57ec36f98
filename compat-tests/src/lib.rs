//! Golden fixtures of every recorded schema version, decoded by the current
//! code. Fixtures arrive with the schema history.
