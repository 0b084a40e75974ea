"""Readers and writers: npz (lossless), GraphML and GEXF (Gephi), the report folder."""
