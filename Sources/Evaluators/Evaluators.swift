// Evaluators module.
