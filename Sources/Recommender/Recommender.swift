// Recommender module.
