# Prints the workbook's sheet as JSON rows, read by openpyxl (a second reader,
# not excelize): every cell as text, dates in ISO form to the millisecond.
import datetime, json, sys
import openpyxl

wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
rows = []
for row in wb[sys.argv[2]].iter_rows(values_only=True):
    out = []
    for v in row:
        if isinstance(v, datetime.datetime):
            out.append(v.isoformat(timespec="milliseconds"))
        elif v is None:
            out.append("")
        else:
            out.append(str(v))
    rows.append(out)
json.dump(rows, sys.stdout)
