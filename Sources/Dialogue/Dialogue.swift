// Dialogue module.
