"""DensePose stage: part maps coloured like MagicAnimate's driving videos."""
