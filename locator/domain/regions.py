"""Ukraine's regions: the one list of their public names, and the area points may be in.

Every region a point carries is one of these names (search/regions.py settles any spelling to
it); the map's filters, the API's schema and the console's choice all read this list.
"""

from __future__ import annotations

# GeoNames' first-level codes for Ukraine (FIPS 10-4 "UP01".."UP27").
REGIONS = {
    "01": ("Черкаська область", "Cherkasy Oblast"),
    "02": ("Чернігівська область", "Chernihiv Oblast"),
    "03": ("Чернівецька область", "Chernivtsi Oblast"),
    "04": ("Дніпропетровська область", "Dnipropetrovsk Oblast"),
    "05": ("Донецька область", "Donetsk Oblast"),
    "06": ("Івано-Франківська область", "Ivano-Frankivsk Oblast"),
    "07": ("Харківська область", "Kharkiv Oblast"),
    "08": ("Херсонська область", "Kherson Oblast"),
    "09": ("Хмельницька область", "Khmelnytskyi Oblast"),
    "10": ("Кіровоградська область", "Kirovohrad Oblast"),
    "11": ("Автономна Республіка Крим", "Autonomous Republic of Crimea"),
    "12": ("Київ", "Kyiv"),
    "13": ("Київська область", "Kyiv Oblast"),
    "14": ("Луганська область", "Luhansk Oblast"),
    "15": ("Львівська область", "Lviv Oblast"),
    "16": ("Миколаївська область", "Mykolaiv Oblast"),
    "17": ("Одеська область", "Odesa Oblast"),
    "18": ("Полтавська область", "Poltava Oblast"),
    "19": ("Рівненська область", "Rivne Oblast"),
    "20": ("Севастополь", "Sevastopol"),
    "21": ("Сумська область", "Sumy Oblast"),
    "22": ("Тернопільська область", "Ternopil Oblast"),
    "23": ("Вінницька область", "Vinnytsia Oblast"),
    "24": ("Волинська область", "Volyn Oblast"),
    "25": ("Закарпатська область", "Zakarpattia Oblast"),
    "26": ("Запорізька область", "Zaporizhzhia Oblast"),
    "27": ("Житомирська область", "Zhytomyr Oblast"),
}

PUBLIC_NAMES = tuple(names[0] for names in REGIONS.values())
UKRAINE_BOUNDS = (22.0, 44.3, 40.3, 52.4)  # min_lon, min_lat, max_lon, max_lat: LOCATOR_BOUNDS
