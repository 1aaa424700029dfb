"""Motion stage: music features -> SMPL/EDGE-format dance (poses, root translation, joints)."""
