"""Operations that rewrite data files (one module each), committed through the table's commit loop."""
