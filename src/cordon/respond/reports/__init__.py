"""Reports to NCMEC's CyberTipline: the report and file-details XML (`cybertip`) and the REST client (`client`)."""
