"""Outlook's contact export headers by language, mapped to the fields ledgerlink reads.

The English names follow the 92-column desktop export (with the older ``Business Country``
spelling and a few names other exporters use). The German, French and Spanish names are those of
the localised Outlook exports as listed in Exchange's own Outlook CSV import tables
(``OutlookCsvLanguage``: de-DE, fr-FR, es-ES). The Spanish Outlook keeps several English headers
(``E-mail Address``, ``Mobile Phone``, ``Home Street``...), which the English table covers.
Headers compare without case, spaces or punctuation (see ``header_key``).
"""

from __future__ import annotations

from collections.abc import Mapping

from ledgerlink.connectors.csv.columns import header_key

Table = Mapping[str, tuple[str, ...]]

ENGLISH: Table = {
    "first_name": ("First Name", "Given Name", "FirstName"),
    "middle_name": ("Middle Name", "Additional Name", "MiddleName"),
    "last_name": ("Last Name", "Family Name", "LastName", "Surname"),
    "suffix": ("Suffix", "Name Suffix"),
    "company": ("Company",),
    "business_street": ("Business Street", "Business Address", "Work Address"),
    "business_street_2": ("Business Street 2",),
    "business_street_3": ("Business Street 3",),
    "business_city": ("Business City", "Work City"),
    "business_state": ("Business State", "Work State"),
    "business_postal_code": ("Business Postal Code", "Work ZIP"),
    "business_country": ("Business Country/Region", "Business Country", "Work Country"),
    "home_street": ("Home Street", "Home Address"),
    "home_street_2": ("Home Street 2",),
    "home_street_3": ("Home Street 3",),
    "home_city": ("Home City",),
    "home_state": ("Home State",),
    "home_postal_code": ("Home Postal Code", "Home ZIP"),
    "home_country": ("Home Country/Region", "Home Country"),
    "other_street": ("Other Street", "Other Address"),
    "other_street_2": ("Other Street 2",),
    "other_street_3": ("Other Street 3",),
    "other_city": ("Other City",),
    "other_state": ("Other State",),
    "other_postal_code": ("Other Postal Code",),
    "other_country": ("Other Country/Region", "Other Country"),
    "business_phone": ("Business Phone",),
    "business_phone_2": ("Business Phone 2",),
    "mobile_phone": ("Mobile Phone",),
    "home_phone": ("Home Phone",),
    "home_phone_2": ("Home Phone 2",),
    "primary_phone": ("Primary Phone",),
    "company_main_phone": ("Company Main Phone",),
    "email_1": ("E-mail Address", "Email Address", "E-mail 1 - Value"),
    "email_1_type": ("E-mail Type", "Email Type"),
    "email_2": ("E-mail 2 Address", "Email 2 Address", "E-mail 2 - Value"),
    "email_2_type": ("E-mail 2 Type", "Email 2 Type"),
    "email_3": ("E-mail 3 Address", "Email 3 Address", "E-mail 3 - Value"),
    "email_3_type": ("E-mail 3 Type", "Email 3 Type"),
    "notes": ("Notes",),
}

GERMAN: Table = {
    "first_name": ("Vorname",),
    "middle_name": ("Weitere Vornamen",),
    "last_name": ("Nachname",),
    "company": ("Firma",),
    "business_street": ("Straße geschäftlich",),
    "business_street_2": ("Straße geschäftlich 2",),
    "business_street_3": ("Straße geschäftlich 3",),
    "business_city": ("Ort geschäftlich",),
    "business_state": ("Region geschäftlich", "Bundesland/Kanton geschäftlich"),
    "business_postal_code": ("Postleitzahl geschäftlich",),
    "business_country": ("Land/Region geschäftlich",),
    "home_street": ("Straße privat",),
    "home_street_2": ("Straße privat 2",),
    "home_street_3": ("Straße privat 3",),
    "home_city": ("Ort privat",),
    "home_state": ("Bundesland/Kanton privat",),
    "home_postal_code": ("Postleitzahl privat",),
    "home_country": ("Land/Region privat",),
    "other_street": ("Weitere Straße",),
    "other_street_2": ("Weitere Straße 2",),
    "other_street_3": ("Weitere Straße 3",),
    "other_city": ("Weiterer Ort",),
    "other_state": ("Weiteres/r Bundesland/Kanton",),
    "other_postal_code": ("Weitere Postleitzahl",),
    "other_country": ("Weiteres/e Land/Region",),
    "business_phone": ("Telefon geschäftlich",),
    "business_phone_2": ("Telefon geschäftlich 2",),
    "mobile_phone": ("Mobiltelefon",),
    "home_phone": ("Telefon privat",),
    "home_phone_2": ("Telefon privat 2",),
    "primary_phone": ("Haupttelefon",),
    "company_main_phone": ("Telefon Firma",),
    "email_1": ("E-Mail-Adresse",),
    "email_1_type": ("E-Mail-Typ",),
    "email_2": ("E-Mail 2: Adresse",),
    "email_2_type": ("E-Mail 2: Typ",),
    "email_3": ("E-Mail 3: Adresse",),
    "email_3_type": ("E-Mail 3: Typ",),
    "notes": ("Notizen",),
}

FRENCH: Table = {
    "first_name": ("Prénom",),
    "middle_name": ("Deuxième prénom",),
    "last_name": ("Nom",),
    "suffix": ("Suffixe",),
    "company": ("Société",),
    "business_street": ("Rue (bureau)",),
    "business_street_2": ("Rue (bureau) 2",),
    "business_street_3": ("Rue (bureau) 3",),
    "business_city": ("Ville (bureau)",),
    "business_state": ("Dép/Région (bureau)",),
    "business_postal_code": ("Code postal (bureau)",),
    "business_country": ("Pays/Région (bureau)", "Pays (bureau)"),
    "home_street": ("Rue (domicile)",),
    "home_street_2": ("Rue (domicile) 2",),
    "home_street_3": ("Rue (domicile) 3",),
    "home_city": ("Ville (domicile)",),
    "home_state": ("Dép/Région (domicile)",),
    "home_postal_code": ("Code postal (domicile)",),
    "home_country": ("Pays/Région (domicile)",),
    "other_street": ("Rue (autre)",),
    "other_street_2": ("Rue (autre) 2",),
    "other_street_3": ("Rue (autre) 3",),
    "other_city": ("Ville (autre)",),
    "other_state": ("Dép/Région (autre)",),
    "other_postal_code": ("Code postal (autre)",),
    "other_country": ("Pays/Région (autre)",),
    "business_phone": ("Téléphone (bureau)",),
    "business_phone_2": ("Téléphone 2 (bureau)",),
    "mobile_phone": ("Tél. mobile",),
    "home_phone": ("Téléphone (domicile)",),
    "home_phone_2": ("Téléphone 2 (domicile)",),
    "primary_phone": ("Téléphone principal",),
    "company_main_phone": ("Téléphone société",),
    "email_1": ("Adresse de messagerie",),
    "email_1_type": ("Type de messagerie",),
    "email_2": ("Adresse de messagerie 2",),
    "email_2_type": ("Type de messagerie 2",),
    "email_3": ("Adresse de messagerie 3",),
    "email_3_type": ("Type de messagerie 3",),
}

SPANISH: Table = {
    "first_name": ("Nombre",),
    "middle_name": ("Segundo nombre",),
    "last_name": ("Apellidos",),
    "company": ("Organización",),
    "business_street": ("Calle del trabajo",),
    "business_street_2": ("Calle del trabajo 2",),
    "business_street_3": ("Calle del trabajo 3",),
    "business_city": ("Ciudad de trabajo",),
    "business_state": ("Provincia o estado de trabajo",),
    "business_postal_code": ("Código postal del trabajo",),
    "business_country": ("País o región del trabajo",),
    "home_country": ("País o región del domicilio",),
    "other_street": ("Otra calle",),
    "other_street_2": ("Otra calle 2",),
    "other_street_3": ("Otra calle 3",),
    "other_city": ("Otra ciudad",),
    "other_state": ("Otra provincia o estado",),
    "other_postal_code": ("Otro código postal",),
    "other_country": ("Otro país o región",),
    "business_phone": ("Teléfono del trabajo",),
    "home_phone": ("Particular",),
    "primary_phone": ("Teléfono principal",),
    "company_main_phone": ("Número de centralita de la organización",),
    "email_1": ("Dirección de correo electrónico",),
    "email_1_type": ("Tipo de correo electrónico",),
    "email_2": ("Dirección de correo electrónico 2",),
    "email_2_type": ("Tipo de correo electrónico 2",),
    "email_3": ("Dirección del correo electrónico 3", "Dirección de correo electrónico 3"),
    "email_3_type": ("Tipo de correo electrónico 3",),
    "notes": ("Notas",),
}

LANGUAGES: Mapping[str, Table] = {
    "English": ENGLISH,
    "German": GERMAN,
    "French": FRENCH,
    "Spanish": SPANISH,
}

FIELDS = tuple(ENGLISH)


def header_lookup() -> dict[str, tuple[str, str]]:
    """Header key → (field, language) over every language."""
    lookup: dict[str, tuple[str, str]] = {}
    for language, table in LANGUAGES.items():
        for field, names in table.items():
            for name in names:
                lookup.setdefault(header_key(name), (field, language))
    return lookup
