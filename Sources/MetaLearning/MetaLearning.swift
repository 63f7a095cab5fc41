// MetaLearning module.
