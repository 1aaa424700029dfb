"""The local web app (`music2dance serve`): upload music and a photo, watch the stages run, preview
the intermediates and download the dance. `jobs` holds everything but the page (`app`)."""
