"""Garment analysis: the garment's mask, category, landmarks and pieces, from a product photo
(``segment``, ``landmarks``) or from a photo of someone wearing it (``worn``)."""
