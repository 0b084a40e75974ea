"""RBM/DBN models and trainers (the only tree that requires torch)."""
